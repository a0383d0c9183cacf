plugin "make" {
  version = "0.1.0"
  hashes = {}
}
