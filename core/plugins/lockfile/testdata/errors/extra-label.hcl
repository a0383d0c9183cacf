plugin "make" "extra" {
  version = "0.1.0"
  hashes = { linux_amd64 = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" }
}
