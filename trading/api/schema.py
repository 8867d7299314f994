TAGS = ["trading"]
