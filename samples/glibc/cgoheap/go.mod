module cgoheap

go 1.22
