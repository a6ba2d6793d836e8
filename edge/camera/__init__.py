"""Cameras behind a narrow interface: OpenCV (device, file, RTSP) and an in-memory test source."""
