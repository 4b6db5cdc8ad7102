"""The files endpoints: files, folders, moves, Recently deleted and the activity log."""
