"""Serial protocols and device drivers between the gateway and its gate hardware."""
