"""Invoicing: which document an order gets, issued through SmartBill (the contract so far)."""
