"""The edge's defences against password and token guessing: who the client is
(``client_address``) and how many times it has failed (``attempts``)."""
