import requests, re, sys, concurrent.futures as cf
base=sys.argv[1]; n=int(sys.argv[2])
def one(i):
    s=requests.Session()
    r=s.get(base+'/.gateway/login')
    tok=re.search(r'name="csrf_token" value="([^"]*)"',r.text).group(1)
    r=s.post(base+'/.gateway/login',data={'username':'demo','password':'demo-password','csrf_token':tok,'remember':'1' if i%2 else ''},allow_redirects=False)
    return r.status_code
with cf.ThreadPoolExecutor(4) as ex:
    res=list(ex.map(one,range(n)))
from collections import Counter; print(Counter(res))
