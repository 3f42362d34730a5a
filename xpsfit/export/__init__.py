"""Exports of fit results: tables (CSV) and HDF5."""
