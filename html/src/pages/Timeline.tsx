export default function Timeline() {
  return <div className="page"><h1>Timeline</h1></div>;
}
