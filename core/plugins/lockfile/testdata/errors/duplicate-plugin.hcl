plugin "make" {
  version = "0.1.0"
  hashes = { linux_amd64 = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" }
}

plugin "make" {
  version = "0.2.0"
  hashes = { linux_amd64 = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" }
}
