plugin "make" {
  version = "1.0.0"
  kinds = [
    "handler:",
  ]
  hashes = { linux_amd64 = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" }
}
