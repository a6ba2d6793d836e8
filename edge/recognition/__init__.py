"""Face recognition: encoder (dlib via face_recognition), gallery of templates, enrolment."""
