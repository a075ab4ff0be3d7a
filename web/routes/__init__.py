"""One module per page: parse the form, call the service, render."""
