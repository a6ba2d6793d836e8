"""One module per area of the web app; each exports `router` (login required) and maybe `public`."""
