-- The face score under its own name (#22): check-in schema v2 sends SFace's cosine `similarity` (higher is closer)
-- and dlib's Euclidean `distance` (lower is closer); v1 called both `distance`. `distance` keeps what it always
-- held (v1 scores and dlib's v2 distances); `similarity` holds v2's similarity. Check-ins stored before this
-- migration kept v2's similarity only in their payload (the event as received): copied into the column here
-- (json, not jsonb: jsonb refuses a \u0000 escape that some other field of a stored payload may hold).
ALTER TABLE checkins ADD COLUMN similarity DOUBLE PRECISION;
UPDATE checkins SET similarity = (payload::json ->> 'similarity')::double precision
    WHERE payload LIKE '%"similarity"%' AND json_typeof(payload::json -> 'similarity') = 'number';
