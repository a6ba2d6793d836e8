"""Parents and their children's data (#24): consent to face recognition, the child's data export."""
