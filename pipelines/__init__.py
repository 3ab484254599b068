"""Stages and commands that compose the VDT core (``vdt``) with physics data (``physion``)."""
