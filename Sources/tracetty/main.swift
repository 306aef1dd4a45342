print("tracetty")
