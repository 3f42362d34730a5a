"""What to fit: recipes (``spec``), peak libraries, link/prior expressions, parameter names,
recipes rebuilt from CasaXPS models."""
