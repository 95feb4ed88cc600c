package trends

import "strings"

// stopwordList is a small embedded list of English function words plus the
// noise of social posts (retweet markers, URL fragments, HTML entities).
// Words are compared after lower-casing and dropping apostrophes.
const stopwordList = `a about above after again against all also am an and any are arent as at
be because been before being below between both but by can cant could couldnt
did didnt do does doesnt doing dont down during each few for from further
get gets got had hadnt has hasnt have havent having he hed hell hes her here heres
hers herself him himself his how hows i id ill im ive if in into is isnt it its
itself just lets like me more most mustnt my myself no nor not now of off on once
only or other ought our ours ourselves out over own same shant she shed shell
shes should shouldnt so some such than that thats the their theirs them
themselves then there theres these they theyd theyll theyre theyve this those
through to too under until up very was wasnt we wed well were weve werent
what whats when whens where wheres which while who whos whom why whys will with
wont would wouldnt you youd youll youre youve your yours yourself yourselves
rt via amp http https www com co org html gt lt nbsp just one two new
de la le les el en et un une des du y que es`

// stopwords is built once from stopwordList and only read afterwards.
var stopwords = func() map[string]struct{} {
	m := map[string]struct{}{}
	for _, w := range strings.Fields(stopwordList) {
		m[w] = struct{}{}
	}
	return m
}()

func isStopword(w []byte) bool {
	_, ok := stopwords[string(w)]
	return ok
}
