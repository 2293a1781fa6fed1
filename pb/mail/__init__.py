"""Delivering the outbox: SMTP (or files under ``var/mail`` without SMTP), with retries.

:mod:`pb.mail.transport` turns an outbox row into a message and hands it to an SMTP server or a
folder; :mod:`pb.mail.sender` claims due rows, delivers them and records the outcome, once
(``pb mail send``) or in a background thread of every ``pb serve`` worker.
"""
