"""The trial store: its HDF5 format (header, layout, reader, writer), COCO RLE masks, store summary and
preview contact sheets."""
