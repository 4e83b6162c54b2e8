module memdbg.example/corpus/harness

go 1.22

require memdbg.example/kit v0.0.0

replace memdbg.example/kit => ../../kit
