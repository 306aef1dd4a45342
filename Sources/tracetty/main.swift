print("tracetty: work in progress")
