"""``frontdesk demo``: a workspace full of believable conversations and local provider peers."""
