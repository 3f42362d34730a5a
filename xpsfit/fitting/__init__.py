"""Front-ends over the one engine: single fits, joint series, presence tests, charge, maps, batch."""
