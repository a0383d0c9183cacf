plugin "s3" {
  version = "1.0.0"
  kinds   = []
  hashes  = { linux_amd64 = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" }
}
