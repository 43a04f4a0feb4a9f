"""The wallboard: a page for a TV across the room, its figures pushed as they change."""
