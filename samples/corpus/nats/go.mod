module memdbg.example/corpus/nats

go 1.22

require (
	github.com/nats-io/nats-server/v2 v2.10.24
	github.com/nats-io/nats.go v1.36.0
	memdbg.example/corpus/harness v0.0.0
	memdbg.example/kit v0.0.0
)

require (
	github.com/klauspost/compress v1.17.11 // indirect
	github.com/minio/highwayhash v1.0.3 // indirect
	github.com/nats-io/jwt/v2 v2.7.3 // indirect
	github.com/nats-io/nkeys v0.4.9 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	golang.org/x/crypto v0.31.0 // indirect
	golang.org/x/sys v0.28.0 // indirect
	golang.org/x/time v0.8.0 // indirect
)

replace (
	memdbg.example/corpus/harness => ../harness
	memdbg.example/kit => ../../kit
)
