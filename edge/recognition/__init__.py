"""Face recognition: detector and encoder backends (SFace by default, dlib kept as an alternative; backend.py),
gallery of templates, enrolment, the decision rule."""
