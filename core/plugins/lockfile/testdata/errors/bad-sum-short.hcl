plugin "make" {
  version = "0.1.0"
  hashes = {
    linux_amd64 = "sha256:0123"
  }
}
