"""SmartBill Cloud connector: typed REST client (``client.py``) and a faithful simulator."""
