'use strict';
// Keeps the page asked for, so that signing in returns to it; shows a failed attempt.
(function () {
  var q = new URLSearchParams(location.search);
  var next = q.get('next') || '/';
  if (next.charAt(0) !== '/' || next.charAt(1) === '/' || next.indexOf('\\') >= 0) next = '/';
  document.getElementById('next').value = next;
  if (q.get('failed')) document.getElementById('failed').hidden = false;
})();
