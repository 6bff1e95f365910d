"""Renderers: a plan result in, text out. They never print and never exit."""
