TAGS = ["ledger"]
