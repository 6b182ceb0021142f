package nametransform

import "strings"

// Sync clients keep files and folders of their own in the folders they
// sync: a folder marker, ignore lists, databases, version archives,
// downloads in progress; the desktop adds its thumbnails and folder
// settings. In an encrypted-names CIPHERDIR these sit among the encrypted
// names and decrypt to nothing, yet they are not damage: a mount must not
// log them as undecryptable, and fsck --repair must not move them (moving
// Syncthing's .stfolder away makes it stop syncing the folder).
//
// None of them can be an encrypted name: those are base64url (A-Z a-z 0-9
// '-' '_', and '=' padding), and every pattern below needs a byte outside
// that set ('.', '~', '!' or CR). So recognising a client's file never
// hides a file of the volume, and names made only of base64url bytes are
// rejected before any pattern is tried (the common case costs one scan).
//
// The patterns do not apply to PlaintextNames volumes: there a name in
// CIPHERDIR is the user's name, and a ".stfolder" made through the mount is
// stored as ".stfolder", indistinguishable from Syncthing's. Callers check
// PlaintextNames first.

// syncClientRules are the patterns, first match wins (Nextcloud's
// "._sync_*" before macOS's "._*"). Never written after initialisation.
var syncClientRules = []struct {
	client string
	match  func(name string) bool
}{
	// The folder marker (a directory; an empty file in old versions),
	// the ignore patterns, the versions archive.
	{"Syncthing", named(".stfolder", ".stignore", ".stversions")},
	// Downloads in progress: Syncthing writes ".syncthing.NAME.tmp" on
	// Unix and "~syncthing~NAME.tmp" on Windows, and recognises both
	// everywhere (a long NAME is replaced by its MD5 in hex).
	{"Syncthing", wrappedIn(".syncthing.", ".tmp")},
	{"Syncthing", wrappedIn("~syncthing~", ".tmp")},
	{"Dropbox", named(".dropbox", ".dropbox.attr", ".dropbox.cache")},
	// The sync journal (".sync_HASH.db" and its -wal/-shm files;
	// "._sync_HASH.db" and ".csync_journal.db" from older clients), the
	// logs, and downloads in progress (".NAME.~HEX").
	{"Nextcloud", journalFile(".sync_")},
	{"Nextcloud", journalFile("._sync_")},
	{"Nextcloud", nameOrPrefix(".csync_journal.db")},
	{"Nextcloud", nameOrPrefix(".nextcloudsync.log")},
	{"ownCloud", nameOrPrefix(".owncloudsync.log")},
	{"Nextcloud", func(n string) bool { _, ok := nextcloudDownload(n); return ok }},
	// LibreOffice's lock files, which Nextcloud's client also leaves alone.
	{"LibreOffice", startsWith(".~lock.")},
	// Resilio Sync's folder (BitTorrent Sync 1.x kept its files at the
	// top instead) and downloads in progress ("NAME.!sync").
	{"Resilio Sync", named(".sync", ".SyncID", ".SyncIgnore", ".SyncArchive")},
	{"Resilio Sync", endsWith(".!sync")},
	// Folder settings and thumbnail caches, which OneDrive and others
	// sync; Windows writes them in any letter case.
	{"Windows", namedFold("desktop.ini", "thumbs.db")},
	// Finder's folder settings, a folder's custom icon, and AppleDouble
	// files holding the extended attributes of NAME ("._NAME").
	{"macOS", named(".DS_Store", "Icon\r")},
	{"macOS", startsWith("._")},
	// unison's transfers in progress: ".unison.NAME.HEX.unison.tmp".
	{"unison", wrappedIn(".unison.", ".unison.tmp")},
	// rclone's uploads in progress ("NAME.partial", "NAME.XXXX.partial").
	{"rclone", endsWith(".partial")},
}

// SyncClientFile reports whether diskName, an entry of an encrypted-names
// CIPHERDIR, is a sync client's own file or folder, and which client's.
// A conflict copy of one (".DS_Store.sync-conflict-…", two Macs wrote
// one each) is the client's too. Not for PlaintextNames volumes (see
// above).
func SyncClientFile(diskName string) (client string, ok bool) {
	if isEncryptedNameChars(diskName) {
		return "", false
	}
	if client, ok := matchSyncClient(diskName); ok {
		return client, true
	}
	// Our own names (long names, sidecars and their conflict copies) are
	// the common names with a '.': they skip the regular expressions.
	if strings.HasPrefix(diskName, ReservedPrefix) {
		return "", false
	}
	if orig, _, ok := SplitConflict(diskName); ok {
		return matchSyncClient(orig)
	}
	return "", false
}

// SyncClientDownload returns the name of the entry that diskName, a sync
// client's download in progress, becomes when it is complete, so that fsck
// keeps a long name's sidecar that arrived before its object. Only the
// clients that keep the whole name in the temporary's are recognised
// (Syncthing, Nextcloud, Resilio Sync, unison): rclone's ".partial" names may
// carry a random part of their own. A name the client shortened
// (Syncthing's MD5 of a long name, Nextcloud's cut) comes back as it is,
// and matches no entry.
func SyncClientDownload(diskName string) (entry string, ok bool) {
	for _, p := range []string{".syncthing.", "~syncthing~"} {
		if inner, ok := strings.CutPrefix(diskName, p); ok {
			if inner, ok = strings.CutSuffix(inner, ".tmp"); ok && inner != "" {
				return inner, true
			}
			return "", false
		}
	}
	if entry, ok := nextcloudDownload(diskName); ok {
		return entry, true
	}
	if entry, ok := strings.CutSuffix(diskName, ".!sync"); ok && entry != "" {
		return entry, true
	}
	if inner, ok := strings.CutPrefix(diskName, ".unison."); ok {
		if inner, ok = strings.CutSuffix(inner, ".unison.tmp"); ok {
			if i := strings.LastIndexByte(inner, '.'); i > 0 {
				return inner[:i], true // less the random part
			}
		}
	}
	return "", false
}

func matchSyncClient(name string) (string, bool) {
	for _, r := range syncClientRules {
		if r.match(name) {
			return r.client, true
		}
	}
	return "", false
}

// nextcloudDownload recognises ".NAME.~HEX", where HEX is 1 to 8 lowercase
// hex digits (a random 32-bit number), and returns NAME.
func nextcloudDownload(name string) (string, bool) {
	i := strings.LastIndex(name, ".~")
	if i < 2 || name[0] != '.' {
		return "", false
	}
	hex := name[i+2:]
	if hex == "" || len(hex) > 8 || strings.Trim(hex, "0123456789abcdef") != "" {
		return "", false
	}
	return name[1:i], true
}

// isEncryptedNameChars reports whether s consists only of bytes an
// encrypted name can hold, the alphabet of a long name's hash (either B64
// variant); "" counts as such.
func isEncryptedNameChars(s string) bool { return s == "" || isHashChars(s) }

func named(names ...string) func(string) bool {
	return func(n string) bool {
		for _, s := range names {
			if n == s {
				return true
			}
		}
		return false
	}
}

// namedFold compares ASCII letters without case, as Windows does; not
// strings.EqualFold, whose Unicode folding would also take "ſ" for "s".
func namedFold(names ...string) func(string) bool {
	return func(n string) bool {
		for _, s := range names {
			if len(n) == len(s) && asciiLower(n) == s {
				return true
			}
		}
		return false
	}
}

// asciiLower lowers ASCII letters only.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// startsWith, endsWith and wrappedIn match names that have more than the fixed
// part: ".partial" alone is nobody's download.
func startsWith(p string) func(string) bool {
	return func(n string) bool { return len(n) > len(p) && strings.HasPrefix(n, p) }
}

// nameOrPrefix matches p and the names starting with it (a log and the
// logs rotated from it, a journal and its temporaries).
func nameOrPrefix(p string) func(string) bool {
	return func(n string) bool { return strings.HasPrefix(n, p) }
}

func endsWith(s string) func(string) bool {
	return func(n string) bool { return len(n) > len(s) && strings.HasSuffix(n, s) }
}

func wrappedIn(p, s string) func(string) bool {
	return func(n string) bool {
		return len(n) > len(p)+len(s) && strings.HasPrefix(n, p) && strings.HasSuffix(n, s)
	}
}

// journalFile matches Nextcloud's journal files: prefix, then anything, then
// ".db", then anything (".sync_*.db*").
func journalFile(p string) func(string) bool {
	return func(n string) bool {
		rest, ok := strings.CutPrefix(n, p)
		return ok && strings.Contains(rest, ".db")
	}
}
