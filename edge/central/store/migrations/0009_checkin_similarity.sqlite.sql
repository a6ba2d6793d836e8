-- The face score under its own name (#22): check-in schema v2 sends SFace's cosine `similarity` (higher is closer)
-- and dlib's Euclidean `distance` (lower is closer); v1 called both `distance`. `distance` keeps what it always
-- held (v1 scores and dlib's v2 distances); `similarity` holds v2's similarity. Check-ins stored before this
-- migration kept v2's similarity only in their payload (the event as received): copied into the column here.
ALTER TABLE checkins ADD COLUMN similarity FLOAT;
UPDATE checkins SET similarity = json_extract(payload, '$.similarity')
    WHERE payload LIKE '%"similarity"%' AND json_valid(payload)
    AND json_type(payload, '$.similarity') IN ('real', 'integer');
