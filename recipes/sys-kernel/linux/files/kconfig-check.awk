# Lists every option a config fragment asks for that the final .config does not have, one per
# line: "CONFIG_X: wanted y, got n". Usage: awk -v modules=0|1 -f kconfig-check.awk FRAGMENT .config
# Without modules, a request for =m is met by =y (the kernel builds it in).
function setting(line) {
	if (line ~ /^CONFIG_[A-Za-z0-9_]+=/) {
		name = substr(line, 1, index(line, "=") - 1)
		return substr(line, index(line, "=") + 1)
	}
	if (line ~ /^# CONFIG_[A-Za-z0-9_]+ is not set$/) {
		split(line, f, " ")
		name = f[2]
		return "n"
	}
	return ""
}
NR == FNR {
	v = setting($0)
	if (v != "") {
		wanted[name] = v
		if (!(name in order)) { order[name] = ++n; names[n] = name }
	}
	next
}
{
	v = setting($0)
	if (v != "") got[name] = v
}
END {
	for (i = 1; i <= n; i++) {
		k = names[i]
		g = (k in got) ? got[k] : "n"
		w = wanted[k]
		if (g == w || (w == "m" && g == "y" && !modules)) continue
		printf "%s: wanted %s, got %s\n", k, w, g
	}
}
