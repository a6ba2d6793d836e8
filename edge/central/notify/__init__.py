"""Parents told: notices of arrival, absence and leaving, exactly once, through the channels schools use."""
