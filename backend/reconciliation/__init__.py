"""Supplier and customer reconciliation (对账): parts, price lists, receipts, statements."""
