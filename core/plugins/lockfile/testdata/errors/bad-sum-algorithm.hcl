plugin "make" {
  version = "0.1.0"
  hashes = {
    linux_amd64 = "sha512:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  }
}
