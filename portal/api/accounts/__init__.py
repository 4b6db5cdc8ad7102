"""The account endpoints: who and where you are, and the hubs."""
