package diskio

// AllZero reports whether b holds only zero bytes.
func AllZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// HoleBlock reports whether block i of buf, whose blocks are cbs bytes,
// is a hole: a full block of zeros (FORMAT §4.4). A partial block, the
// last one of a file, never is.
func HoleBlock(buf []byte, i, cbs int64) bool {
	end := (i + 1) * cbs
	return end <= int64(len(buf)) && AllZero(buf[i*cbs:end])
}
