"""Unipile: LinkedIn and WhatsApp (QR code) accounts through one unified messaging API."""
