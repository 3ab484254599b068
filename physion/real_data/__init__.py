"""Real Physion in every form: layout detection and the readers of Physion MP4 trees, tdw_physics output folders,
Physion v1.5, and their import into a trial store."""
