package diskio

import "slices"

// ListNames returns the names of the directory open at fd, without "."
// and "..", sorted: the offline tools walk in name order so that their
// reports and steps are the same on every run.
func ListNames(fd int) ([]string, error) {
	var names []string
	err := ReadDirents(fd, func(name string, _ uint64, _ uint8) bool {
		names = append(names, name)
		return true
	})
	slices.Sort(names)
	return names, err
}
