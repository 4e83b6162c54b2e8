module misuse

go 1.22
