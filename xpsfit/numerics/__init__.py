"""Pure numpy: line shapes (values, true FWHM, derivatives) and backgrounds — the registries."""
