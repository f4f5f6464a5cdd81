GET /reg_srv?code={oauth-author-code:url}&state={state:url}&session_num={oauth-sess-num:url}&user_id={oauth-user-id:url} HTTP/1.1
Host: {webrtc-srv-name}:{http-port}
Connection: keep-alive
Pragma: no-cache
Cache-Control: no-cache
Upgrade-Insecure-Requests: 1
User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.163 Safari/537.36
Sec-Fetch-Dest: document
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.9
Sec-Fetch-Site: same-site
Sec-Fetch-Mode: navigate
Sec-Fetch-User: ?1
Referer: {referer?}
Accept-Language: en-US,en;q=0.9
Cookie: {oauth-cookie?}
