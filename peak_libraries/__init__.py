"""Built-in peak libraries (TOML files), shipped as package data of ``xpsfit``."""
