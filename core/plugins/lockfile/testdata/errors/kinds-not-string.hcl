plugin "s3" {
  version = "1.0.0"
  kinds   = ["storage:s3", 3]
  hashes  = { linux_amd64 = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" }
}
